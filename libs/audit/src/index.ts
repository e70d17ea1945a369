export * from './stored';
export * from './compare';
export * from './replay';
export * from './csv';
export * from './render';
