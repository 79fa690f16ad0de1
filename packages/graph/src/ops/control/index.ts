export * from './control';
export * from './functions';
