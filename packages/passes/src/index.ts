export * from './pass-manager';
export * from './autodiff';
