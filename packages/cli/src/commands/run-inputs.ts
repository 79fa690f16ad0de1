import type { LoadedModel, TensorValue } from '@graphc/graph';
import { UsageError } from '../cli-error';

/**
 * Reads `--inputs DIR` (ONNX test-data TensorProto files). The ONNX module installs the reader; until
 * then the flag is refused with a clear reason.
 */
export const inputFeedsHook: { read: (dir: string, model: LoadedModel) => Promise<Map<string, TensorValue>> } = {
  read: async () => {
    throw new UsageError('--inputs needs ONNX support, which this build lacks');
  },
};
