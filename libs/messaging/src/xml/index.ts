export * from './errors';
export * from './dto';
export * from './decode';
export * from './encode';
