import { logLevel } from 'kafkajs';
import { kafkaJsLogCreator, kafkaSettingsFromEnv, type KafkaLogSink } from './config';
import { ALL_TOPICS, TOPIC_SPECS, Topics } from './topics';

describe('kafkaSettingsFromEnv', () => {
  it('reads brokers, client id and log level', () => {
    expect(
      kafkaSettingsFromEnv(
        { KAFKA_BROKERS: ' a:9092, b:9092 ,', KAFKA_CLIENT_ID: 'gw', KAFKA_LOG_LEVEL: 'INFO' },
        { clientId: 'x' },
      ),
    ).toEqual({ brokers: ['a:9092', 'b:9092'], clientId: 'gw', logLevel: 'info' });
  });

  it('falls back to the defaults', () => {
    expect(kafkaSettingsFromEnv({ KAFKA_BROKERS: 'a:1' }, { clientId: 'gw' })).toEqual({
      brokers: ['a:1'],
      clientId: 'gw',
      logLevel: 'warn',
    });
  });

  it('refuses a missing broker list and an unknown level', () => {
    expect(() => kafkaSettingsFromEnv({}, { clientId: 'gw' })).toThrow(/KAFKA_BROKERS/);
    expect(() =>
      kafkaSettingsFromEnv({ KAFKA_BROKERS: 'a:1', KAFKA_LOG_LEVEL: 'loud' }, { clientId: 'gw' }),
    ).toThrow(/KAFKA_LOG_LEVEL/);
  });
});

describe('kafkaJsLogCreator', () => {
  it('writes one line per entry to the sink at the matching level', () => {
    const lines: string[] = [];
    const sink: KafkaLogSink = {
      error: (m) => lines.push(`E ${m}`),
      warn: (m) => lines.push(`W ${m}`),
      log: (m) => lines.push(`I ${m}`),
    };
    const write = kafkaJsLogCreator(sink)(logLevel.INFO);
    write({
      namespace: 'Runner',
      level: logLevel.WARN,
      label: 'WARN',
      log: { timestamp: 't', message: 'rebalancing', groupId: 'g', error: new Error('boom') },
    });
    write({
      namespace: '',
      level: logLevel.DEBUG,
      label: 'DEBUG',
      log: { timestamp: 't', message: 'x' },
    });
    expect(lines).toEqual(['W [kafkajs] Runner: rebalancing (groupId=g, error=boom)']);
  });
});

describe('Topics', () => {
  it('are versioned and all have a default layout', () => {
    for (const topic of ALL_TOPICS) expect(topic).toMatch(/^[a-z.-]+\.v\d+$/);
    expect(TOPIC_SPECS.map((s) => s.topic).sort()).toEqual([...ALL_TOPICS].sort());
    expect(Topics.settlementEvents).toBe('settlement.events.v1');
  });
});
