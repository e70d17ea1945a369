/**
 * Parked outbox events (docs/adr/0011): events the broker refuses for themselves (too large,
 * invalid), set aside so that the rest flow on. Operators list them and, once the cause is fixed
 * (e.g. the topic's max.message.bytes raised), put one back in the relay's queue.
 */
import { Controller, Get, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { listParkedOutbox, republishParkedOutbox } from '@onebill/ledger';
import { Allow, principalOf } from './auth';
import { notFound } from './http.controller';
import { GatewayRuntime } from './runtime';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

@Controller()
export class OutboxController {
  constructor(@Inject(GatewayRuntime) private readonly runtime: GatewayRuntime) {}

  @Get('api/v1/outbox/parked')
  @Allow('operator')
  async parked(@Query('limit') limit: string | undefined): Promise<Record<string, unknown>> {
    const n = limit === undefined ? 50 : Number.parseInt(limit, 10);
    const rows = await listParkedOutbox(
      this.runtime.db,
      Number.isFinite(n) && n > 0 ? Math.min(n, 500) : 50,
    );
    return {
      parked: rows.map((r) => ({
        event_id: r.eventId,
        topic: r.topic,
        key: r.key,
        bytes: r.bytes,
        created_at: r.createdAt.toISOString(),
        parked_at: r.parkedAt.toISOString(),
        park_reason: r.parkReason,
      })),
    };
  }

  @Post('api/v1/outbox/parked/:eventId/republish')
  @Allow('operator')
  async republish(
    @Param('eventId') eventId: string,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const n = UUID.test(eventId) ? await republishParkedOutbox(this.runtime.db, [eventId]) : 0;
    if (n === 0) {
      notFound(res, `no parked event ${eventId}`);
      return;
    }
    // an operator's change: in the audit log (docs/adr/0015)
    await this.runtime.recordAction(principalOf(req), 'outbox-republish', eventId, 'queued');
    this.runtime.pokeRelay();
    res.status(202).json({ event_id: eventId, status: 'queued' });
  }
}
