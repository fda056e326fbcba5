import type { components, paths as GeneratedPaths } from '../../../functions/platform/openapi/api-types';

/**
 * The API's types, generated from its OpenAPI document (`npm run openapi`). Routes and fields the console
 * already uses but the document does not describe yet are declared below; a generated definition of the same
 * route replaces the declared one, so these fall away on their own as the document catches up.
 */
type Schemas = components['schemas'];
type ApiErrorBody = Schemas['ApiError'];

// Declared here as `'/path': { get: {...} }` in openapi-typescript's shape while a route is being built and not yet
// in the generated document; empty when the document describes everything the console uses.
type PendingPaths = Record<never, never>;

export type Paths = GeneratedPaths & Omit<PendingPaths, keyof GeneratedPaths>;

export interface SsoProvider {
  id: string;
  displayName: string;
}

export type ChargeStatus = Schemas['Charge']['status'];
export type Unit = Schemas['Charge']['unit'];
export type Permission = Schemas['Me']['permissions'][number];
export type Me = Schemas['Me'];
export type NewCharge = Schemas['NewCharge'] & { lotNumber?: string };
export type Charge = Schemas['Charge'] & { lotNumber?: string };
export type ChargePatch = Schemas['ChargePatch'] & { signature?: SignatureInput };
export type ApiErrorPayload = ApiErrorBody['error'];

export type SignatureMeaning = 'approved_for_release' | 'rejected' | 'blocked' | 'reviewed';
export interface SignatureInput {
  meaning: SignatureMeaning;
  password?: string;
  totp?: string;
  ticket?: string;
}
export interface SignatureRecord {
  signer: { userId: string; username: string; displayName?: string | null };
  meaning: SignatureMeaning;
  at: string;
  method?: string;
}
export type HistoryEntry = Schemas['HistoryEntry'] & { signature?: SignatureRecord | null };
export interface HistoryPage {
  chargeId: string;
  versions: HistoryEntry[];
  nextCursor?: string | null;
}

export interface TokenAnswer {
  accessToken: string;
  tokenType: string;
  expiresIn: number;
  /** The server's idle limit for this session, when it says; else the documented default. */
  idleSeconds?: number;
}
export interface LoginRequest {
  username: string;
  password: string;
  totp?: string;
  session: 'cookie';
}

export const STATUSES: readonly ChargeStatus[] = ['in_production', 'quarantine', 'released', 'rejected', 'blocked'];
export const UNITS: readonly Unit[] = ['kg', 'g', 't', 'l', 'ml', 'pcs'];
