import { registerOp } from '../../registry';
import { inferRecurrent } from './rnn-common';

/**
 * gru(x, w, r, b?, sequenceLens?, initialH?): ONNX's GRU (gates z, r, h; `linearBeforeReset`).
 * Outputs Y and Y_h; attrs as lstm.
 */
registerOp({ name: 'gru', family: 'nn', numInputs: 'variadic', infer: (ctx) => inferRecurrent(ctx, 3, 2) });
