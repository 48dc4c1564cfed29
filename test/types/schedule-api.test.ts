import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { createDispatcher, defineJob, type Schedule } from '../../src/index.js';

/** The schedule API's types, checked by the compiler: each `@ts-expect-error` fails the build if the line below it compiles. */
const report = defineJob({ name: 'report', input: z.object({ team: z.string() }), handler: async () => {} });
const dispatcher = createDispatcher().register(report);

describe('the schedule API, as the compiler sees it', () => {
  it('types the input by the definition and the options by their values', () => {
    expectTypeOf(dispatcher.schedule<typeof report>).returns.toEqualTypeOf<Promise<Schedule>>();
    async function refused() {
      // @ts-expect-error: a field of the wrong type
      await dispatcher.schedule('s', '* * * * *', report, { team: 1 });
      // @ts-expect-error: not an overlap
      await dispatcher.schedule('s', '* * * * *', report, { team: 'a' }, { overlap: 'queue' });
      // @ts-expect-error: not a catch-up mode
      await dispatcher.schedule('s', '* * * * *', report, { team: 'a' }, { catchUp: 'some' });
      // By name the input is not known to the compiler; it is checked at run time.
      await dispatcher.schedule('s', '* * * * *', 'report', { anything: true });
    }
    void refused;
  });
});
