export * from './pass-manager';
