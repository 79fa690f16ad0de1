export * from './pass-manager';
export * from './autodiff';
export * as train from './train';
