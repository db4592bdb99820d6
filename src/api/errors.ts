import { Type } from 'typebox';
import { WIRE_CODES, type WireCode } from '../common/errors.js';

/** A stable word for programs, from the error catalogue (README, "Errors"). */
export const ErrorCodeSchema = Type.Enum(WIRE_CODES, { description: 'a stable word for programs, from the error catalogue' });

/** The code of a job's error; null when it has none or its words came from the job itself. */
export const NullableErrorCodeSchema = Type.Unsafe<WireCode | null>({
  type: ['string', 'null'],
  enum: [...WIRE_CODES, null],
  description: "the error catalogue's code of `error`, for programs (command_not_found when the worker refused the start)",
});

/** Every error answer: words for people, and a stable code for programs (from the error catalogue). */
export const ErrorBodySchema = Type.Object(
  {
    error: Type.String({ description: 'what went wrong and what to do, for people' }),
    code: ErrorCodeSchema,
  },
  { description: 'an error' },
);
