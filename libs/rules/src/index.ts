export * from './types';
export { resolveRuleSet } from './resolve';
export { RuleBook, projectRoot, type Hospital, type RuleBookOptions } from './load';
export {
  accumulatorNames,
  accumulatorProblems,
  fileProblems,
  readAccumulators,
  readJsonFile,
} from './inputs';
export { describeErrors, schemaProblems, schemaValidator, unknownNames, where } from './schemas';
