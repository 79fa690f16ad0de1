export * from './model-json';
export * from './safe-fs';
export * from './tensor-bytes';
export * from './tensor-json';
export * from './onnx';
export * from './dot';
