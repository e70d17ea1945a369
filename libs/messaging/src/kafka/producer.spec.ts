import {
  KafkaJSConnectionError,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
} from 'kafkajs';
import { KafkaSendError, classifySendError } from './producer';

/** A broker error as kafkajs builds it from a produce response's error code. */
function protocol(type: string, retriable = false): KafkaJSProtocolError {
  return new KafkaJSProtocolError({
    type,
    code: 0,
    retriable,
    message: `broker says ${type}`,
  } as never);
}

describe('what a failed send means', () => {
  it.each(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'INVALID_TIMESTAMP'])(
    '%s is the record itself: the relay isolates and parks it',
    (type) => {
      const failure = classifySendError(protocol(type));
      expect(failure).toBeInstanceOf(KafkaSendError);
      expect(failure).toMatchObject({ kind: 'record', type });
    },
  );

  it.each([
    'OUT_OF_ORDER_SEQUENCE_NUMBER',
    'DUPLICATE_SEQUENCE_NUMBER',
    'INVALID_PRODUCER_EPOCH',
    'UNKNOWN_PRODUCER_ID',
    'INVALID_PRODUCER_ID_MAPPING',
    // PRODUCER_FENCED (90), which kafkajs 2.2.4 does not know
    'KAFKAJS_UNKNOWN_ERROR_CODE',
  ])('%s is fatal for the producer instance', (type) => {
    expect(classifySendError(protocol(type))).toMatchObject({ kind: 'producer', type });
  });

  it('finds the broker error under the wrappers kafkajs puts around it', () => {
    // a non-retriable error thrown inside kafkajs's retrier comes out wrapped, the type in `cause`
    const inner = protocol('OUT_OF_ORDER_SEQUENCE_NUMBER');
    const wrapped = Object.assign(new KafkaJSNonRetriableError(inner), { cause: inner });
    expect(classifySendError(wrapped)).toMatchObject({
      kind: 'producer',
      type: 'OUT_OF_ORDER_SEQUENCE_NUMBER',
    });
    const exhausted = new KafkaJSNumberOfRetriesExceeded(protocol('CORRUPT_MESSAGE', true), {
      retryCount: 5,
      retryTime: 100,
    });
    expect(classifySendError(exhausted)).toMatchObject({ kind: 'record', type: 'CORRUPT_MESSAGE' });
  });

  it('an outage, a missing leader or anything unknown is transient: try again later', () => {
    const down = new KafkaJSNumberOfRetriesExceeded(
      new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:29192'),
      { retryCount: 5, retryTime: 100 },
    );
    expect(classifySendError(down)).toMatchObject({ kind: 'transient', type: null });
    expect(classifySendError(protocol('NOT_ENOUGH_REPLICAS', true))).toMatchObject({
      kind: 'transient',
    });
    expect(classifySendError(new Error('socket hang up'))).toMatchObject({ kind: 'transient' });
    expect(classifySendError('a string')).toMatchObject({ kind: 'transient', message: 'a string' });
  });
});
