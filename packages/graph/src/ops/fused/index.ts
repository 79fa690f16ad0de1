// Ops of the 'fused' family: made by the fusion pass, saved and loaded like any op.
export * from './program';
export * from './elementwise';
export * from './anchors';
