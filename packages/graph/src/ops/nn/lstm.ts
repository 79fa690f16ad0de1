import { registerOp } from '../../registry';
import { inferRecurrent } from './rnn-common';

/**
 * lstm(x, w, r, b?, sequenceLens?, initialH?, initialC?, p?): ONNX's LSTM (gates i, o, f, c;
 * optional peepholes, clip, inputForget, per-gate activations). Outputs Y, Y_h and Y_c. Attr `inputs`
 * names the inputs present; `hiddenSize`, `direction`, `layout`, `activations`,
 * `activationAlpha`/`activationBeta`, `clip`, `inputForget` as ONNX.
 */
registerOp({ name: 'lstm', family: 'nn', numInputs: 'variadic', infer: (ctx) => inferRecurrent(ctx, 4, 3) });
