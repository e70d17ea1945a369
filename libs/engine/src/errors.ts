/**
 * An input the engine cannot settle. `field` names the input field (wire name where the field comes
 * from the bill, e.g. `inscp_scp_amt`), `rule` names the rule it broke, `code` is stable for machines.
 */
export class EngineError extends Error {
  constructor(
    readonly code: string,
    readonly field: string | null,
    readonly rule: string,
    message: string,
  ) {
    super(message);
    this.name = 'EngineError';
  }
}
