export * from './control';
export * from './functions';
export * from './custom-gradient';
