/**
 * The Kafka intake's handlers, one `@EventPattern` per topic, run by the Kafka transport
 * (kafka.transport.ts) for each message of a batch. Each resolves once the message's outcome is
 * committed in the database; the transport commits the batch's offsets after every handler of it
 * resolved. A message that keeps failing is kept as a reject (processWithRetries), so it never
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
import { Public } from './auth';
import { type IdentityOutcome, IdentityService } from './identity.service';
import { IntakeService, type Outcome } from './intake.service';
import { arrivalOf, kafkaSource, processWithRetries } from './kafka.ingress';
import { KAFKA_INGRESS, type KafkaBatchContext } from './kafka.transport';
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
