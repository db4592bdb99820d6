import { Type } from 'typebox';

/** Every error answer: words for people, and a stable code for programs (from the error catalogue). */
export const ErrorBodySchema = Type.Object(
  {
    error: Type.String({ description: 'what went wrong and what to do, for people' }),
    code: Type.String({ description: 'a stable word for programs, from the error catalogue' }),
  },
  { description: 'an error' },
);
