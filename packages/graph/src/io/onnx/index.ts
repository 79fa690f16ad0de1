/**
 * ONNX import and export. Importing this module registers the '.onnx' model loader and every ONNX
 * op translation.
 */
import { registerModelLoader } from '../model-json';
import { loadOnnx } from './import';
import './ops-elementwise';
import './ops-array';
import './ops-reduce';
import './ops-nn';
import './ops-attention';
import './ops-gqa';
import './ops-contrib';
import './ops-signal-quant';
import './ops-detection';
import './ops-spectral';
import './ops-training';
import './ops-random';

export { importOnnx, loadOnnx, setOnnxConstantEvaluator, setOnnxGradientBuilder, supportedOnnxOps, sanitizeName, defineOnnxOp, TRAINING_DOMAIN } from './import';
export type { OnnxImportOptions, ImportEvaluator, OnnxGradientBuilder, OnnxSignatureNames, OnnxHandler } from './import';
export { readTensorProtoFile, tensorFromProto, tensorToProto, dtypeOfOnnx, onnxTypeName, DTYPE_TO_ONNX } from './tensor';
export { decodeModel, decodeTensor, encodeModel, encodeTensor, onnx } from './proto';
export type { OnnxNode, OnnxOutput } from './context';
export { exportOnnx, saveOnnx, EXPORT_OPSET } from './export';
export type { OnnxExportOptions } from './export';
export { setOnnxExport } from './export-context';
export type { OnnxExportRule, ExportContext } from './export-context';

registerModelLoader('.onnx', (file) => loadOnnx(file));
