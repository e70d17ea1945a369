export * from './kafka';
export * from './events/settlement-event';
export * from './xml';
