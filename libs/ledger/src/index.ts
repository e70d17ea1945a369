export * from './db';
export * from './migrate';
export * from './repositories';
export * from './console';
export * from './archive';
export * from './identities';
export * from './topups';
export * from './alerts';
