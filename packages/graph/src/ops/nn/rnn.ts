import { registerOp } from '../../registry';
import { inferRecurrent } from './rnn-common';

/** rnn(x, w, r, b?, sequenceLens?, initialH?): ONNX's simple RNN, H = f(x W^T + h R^T + b). Outputs Y and Y_h. */
registerOp({ name: 'rnn', family: 'nn', numInputs: 'variadic', infer: (ctx) => inferRecurrent(ctx, 1, 2) });
