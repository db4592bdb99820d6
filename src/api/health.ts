import { Type, type Static } from 'typebox';

export const HealthSchema = Type.Object({ status: Type.Literal('ok') }, { description: 'the process answers' });
export type Health = Static<typeof HealthSchema>;

export const ReadySchema = Type.Object({ status: Type.Literal('ready') }, { description: 'ready for work' });
export type Ready = Static<typeof ReadySchema>;
