import { setOnnxGradientBuilder } from '@graphc/graph';
import { gradients } from './gradients';

export { gradients };
export type { GradientsOptions } from './gradients';
import './control-flow';

// an imported ONNX Gradient node (ai.onnx.preview.training) is differentiated by this autodiff
setOnnxGradientBuilder((y, xs) => gradients(y, xs, undefined, { name: `${y.node.name}_grad` }));
