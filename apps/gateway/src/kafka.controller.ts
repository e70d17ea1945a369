/**
 * The Kafka intake's handlers, run by the Kafka transport (kafka.transport.ts). The intake's
 * topics (his.discharge.v1, his.admission.v1) come in chunks to `@EventPattern(INTAKE_CHUNK)`:
 * each chunk (one lane's messages, at most INTAKE_BATCH_SIZE) is settled in ONE transaction (group
 * commit, docs/adr/0020), one CONSUMER span per message; the per-topic handlers below settle one
 * message in a transaction of its own (a group without chunks; a chunk's fallback). Each resolves
 * once the outcomes are committed in the database; the transport commits the batch's offsets
 * after every handler of it resolved. A message that keeps failing is kept as a reject (processWithRetries), so it never
 * blocks its partition; a store outage makes it wait for the store (`ctx.whenReady()`,
 * docs/adr/0010).
 *
 * `EventPattern<string>`: Nest 12 types the handler's further arguments `unknown` when the pattern is
 * a key of an event map; the string form lets the context be typed. KAFKA_INGRESS binds the
 * handlers to our transport only.
 *
 * @Public(): these are not HTTP routes and carry no bearer credential; what may publish to the
 * topics is the broker's affair (its ACLs).
 */
import { Controller, Inject } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { type InboundMessage, Topics } from '@onebill/messaging';
import { SpanKind, extractContext, inSpan } from '@onebill/observability/tracing';
import { Public } from './auth';
import { type IdentityOutcome, IdentityService } from './identity.service';
import { IntakeService, type Outcome } from './intake.service';
import {
  INTAKE_CHUNK,
  arrivalOf,
  kafkaSource,
  processChunk,
  processWithRetries,
} from './kafka.ingress';
import { KAFKA_INGRESS, type KafkaBatchContext, type KafkaChunkContext } from './kafka.transport';
import { Logger } from './log';
import { GatewayRuntime } from './runtime';

@Controller()
@Public()
export class KafkaIntakeController {
  constructor(
    @Inject(IntakeService) private readonly intake: IntakeService,
    @Inject(IdentityService) private readonly identities: IdentityService,
    @Inject(GatewayRuntime) private readonly runtime: GatewayRuntime,
    @Inject(Logger) private readonly log: Logger,
  ) {}

  /** A chunk of the intake's topics, settled in one transaction (group commit). */
  @EventPattern<string>(INTAKE_CHUNK, KAFKA_INGRESS)
  async chunk(
    @Payload() chunk: readonly InboundMessage[],
    @Ctx() ctx: KafkaChunkContext,
  ): Promise<Outcome[]> {
    const started = process.hrtime.bigint();
    // decoded once, by the one decoder, when the transport picked its lane (kafka.ingress.ts)
    const items = chunk.map((m) => ({
      arrival: arrivalOf(this.intake, m),
      source: kafkaSource(m),
      // a span per message, a CONSUMER child of its traceparent, active while its handler runs:
      // the outbox rows it stages carry it (libs/ledger). Tracing off: runs as it is.
      around: <T>(run: () => Promise<T>): Promise<T> => inMessageSpan(m, run),
    }));
    const { outcomes, batched } = await processChunk(
      this.log,
      chunk,
      () => this.intake.submitBatch(items),
      (m) => inMessageSpan(m, () => this.settle(m, ctx.forMessage(m))),
      () => ctx.whenReady(),
    );
    // one by one, each message recorded its own outcome already
    if (batched) {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      outcomes.forEach((outcome, i) => {
        const m = chunk[i];
        if (m !== undefined) this.runtime.record(outcome, 'kafka', m.topic, seconds);
      });
    }
    return outcomes;
  }

  @EventPattern<string>(Topics.hisDischarge, KAFKA_INGRESS)
  discharge(@Payload() m: InboundMessage, @Ctx() ctx: KafkaBatchContext): Promise<Outcome> {
    return this.settle(m, ctx);
  }

  @EventPattern<string>(Topics.hisAdmission, KAFKA_INGRESS)
  admission(@Payload() m: InboundMessage, @Ctx() ctx: KafkaBatchContext): Promise<Outcome> {
    return this.settle(m, ctx);
  }

  /** identity.changes.v1 (issue 6): the transport runs its batches in order (one lane). */
  @EventPattern<string>(Topics.identityChanges, KAFKA_INGRESS)
  async identityChange(
    @Payload() m: InboundMessage,
    @Ctx() ctx: KafkaBatchContext,
  ): Promise<IdentityOutcome> {
    const raw = m.value?.toString('utf8') ?? '';
    const source = kafkaSource(m);
    // decoded once, here; a retry runs on the same decoded change
    const decoded = this.identities.decode(raw);
    const outcome = await processWithRetries(
      this.log,
      m,
      () => this.identities.processDecoded(raw, decoded, source),
      (error) => this.identities.internalReject(raw, source, error),
      () => ctx.whenReady(),
    );
    this.runtime.metrics.identityChanges.inc({ outcome: outcome.status });
    return outcome;
  }

  private async settle(m: InboundMessage, ctx: KafkaBatchContext): Promise<Outcome> {
    const started = process.hrtime.bigint();
    // decoded once, by the one decoder, when the transport picked its lane (kafka.ingress.ts)
    const arrival = arrivalOf(this.intake, m);
    const source = kafkaSource(m);
    const outcome = await processWithRetries(
      this.log,
      m,
      () => this.intake.submitDecoded(arrival, source),
      (error) => this.intake.internalRejectDecoded(arrival, source, error),
      () => ctx.whenReady(),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.runtime.record(outcome, 'kafka', m.topic, seconds);
    return outcome;
  }
}

/** A CONSUMER span for the message, a child of its `traceparent`, around `run`. */
function inMessageSpan<T>(m: InboundMessage, run: () => Promise<T>): Promise<T> {
  return inSpan(
    `${m.topic} process`,
    { tracer: 'gateway', parent: extractContext(m.headers), kind: SpanKind.CONSUMER },
    () => run(),
  );
}
