/**
 * Shared shapes of the local Azure emulator: its persisted state and the
 * interface each emulated service (ARM, Cosmos data plane, Key Vault, control)
 * implements. Everything in EmulatorState is plain JSON: it is what
 * `--data-dir` persists and what `GET /_emulator/state` returns.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { ClockSnapshot, VirtualClock } from '../clock.js';
import type { ArmOperation } from './arm-routes.js';

export const KEY_KINDS = ['primary', 'secondary', 'primaryReadonly', 'secondaryReadonly'] as const;
export type KeyKind = (typeof KEY_KINDS)[number];

export interface KeyState {
  /** base64, 64 random bytes, as Azure issues them. */
  value: string;
  generationTime: string;
  /** Last authenticated data-plane use, as reported (after the account's usage lag); null if never used. */
  approximateLastUsageTime: string | null;
  /** Uses not yet visible because of the usage lag: ISO times of the real uses. */
  pendingUsageTimes?: string[];
  /** The value before the last regeneration: regions the new value has not reached yet still accept it. */
  previousValue?: string;
}

/** A read region beyond the account's first (write) region, with its own data-plane endpoint. */
export interface RegionState {
  location: string;
  /** Loopback port of this region's data plane. */
  dataPlanePort: number;
  /** How long a regenerated key takes to be accepted here, in emulator time. */
  propagationSeconds: number;
}

export interface AccountState {
  /** Canonical ARM resource ID (case kept as created). */
  id: string;
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  location: string;
  kind: 'GlobalDocumentDB';
  capabilities: string[];
  disableLocalAuth: boolean;
  regenerationSeconds: number;
  usageLagSeconds: number;
  /** Loopback port of this account's data plane (its global endpoint, also its first region's); reused after a restart when free. */
  dataPlanePort: number;
  /** Further regions, in failover order; absent for a single-region account. */
  regions?: RegionState[];
  keys: Record<KeyKind, KeyState>;
  createdAt: string;
  databases: Record<string, DatabaseState>;
}

export interface DatabaseState {
  id: string;
  _rid: string;
  _ts: number;
  containers: Record<string, ContainerState>;
}

export interface ContainerState {
  id: string;
  _rid: string;
  _ts: number;
  partitionKey: { paths: string[]; kind: 'Hash'; version?: number };
  documents: Record<string, Record<string, unknown>>;
}

export interface OperationState {
  id: string;
  accountId: string;
  kind: 'regenerateKey' | 'updateAccount';
  keyKind?: KeyKind;
  startedAt: string;
  completesAt: string;
  status: 'InProgress' | 'Succeeded' | 'Failed';
  /** For updateAccount: the properties applied on completion. */
  patch?: { capabilities?: string[]; disableLocalAuth?: boolean };
  error?: { code: string; message: string };
  /** Set through the control API: the operation ends Failed with this error (key unchanged) instead of succeeding. */
  plannedFailure?: OperationFailure;
  /** HTTP status the Location (operationResults) URL answers once the operation Failed; 400 when absent. */
  failureStatus?: number;
}

/** How an operation is made to fail: ARM's error and the status its Location URL then answers with. */
export interface OperationFailure {
  code: string;
  message: string;
  status: number;
}

/** Control `POST /operations/fail-next`: the next `times` regenerations started on the account fail. */
export interface OperationFailureRule extends OperationFailure {
  id: string;
  accountId: string;
  /** Only regenerations of this key; any key when absent. */
  keyKind?: KeyKind;
  /** How many regenerations it still fails. */
  times: number;
}

/** Control `/rbac`: ARM operations (names as in stats) the caller is not authorized for. */
export interface RbacState {
  deny: ArmOperation[];
}

export interface SecretVersionState {
  version: string;
  value: string;
  contentType?: string;
  tags?: Record<string, string>;
  enabled: boolean;
  notBefore?: string;
  expiresOn?: string;
  created: string;
  updated: string;
}

export interface SecretState {
  /** Name as first created (Key Vault names are case-insensitive). */
  name: string;
  versions: SecretVersionState[];
}

export interface DeletedSecretState extends SecretState {
  deletedDate: string;
  scheduledPurgeDate: string;
}

export interface FaultRule {
  id: string;
  service: 'arm' | 'cosmos' | 'keyvault' | 'eventgrid' | 'storage';
  method?: string;
  /** A regular expression matched against the request path (without the query). */
  pathPattern?: string;
  status?: number;
  retryAfterSeconds?: number;
  delayMs?: number;
  /** How many matching requests it still affects. */
  times: number;
}

export interface EmulatorState {
  schemaVersion: 1;
  clock: ClockSnapshot;
  /** Keyed by the lower-cased resource ID. */
  accounts: Record<string, AccountState>;
  operations: Record<string, OperationState>;
  keyVault: {
    /** Keyed by the lower-cased secret name. */
    secrets: Record<string, SecretState>;
    deleted: Record<string, DeletedSecretState>;
  };
  faults: FaultRule[];
  /** Absent in state files written before regeneration failures could be planned. */
  operationFailures?: OperationFailureRule[];
  /** Subscription and resource group of each account deleted through the control API ("sub/rg", lower case): they still exist. */
  deletedAccountScopes?: string[];
  /** Absent (or an empty deny list): every ARM operation is authorized. */
  rbac?: RbacState;
  /** Ports of the ARM/control and Key Vault servers, reused after a restart when free. */
  ports?: { arm: number; keyVault: number; eventGrid?: number; storage?: number };
}

export interface EmulatorRequest {
  method: string;
  url: URL;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface EmulatorResponse {
  status: number;
  headers?: Record<string, string>;
  /** Serialised as JSON unless a Buffer or string. */
  body?: unknown;
}

/** What every service handler gets: the clock, the state and a way to persist a change. */
export interface ServiceContext {
  clock: VirtualClock;
  /** Read-only view; change it only inside `mutate`. */
  readonly state: EmulatorState;
  /** Applies a change and persists the state atomically (when a data dir is set). */
  mutate<T>(change: (state: EmulatorState) => T): T;
  /** Completes the operations and makes visible the key uses that are due by now (a no-op most of the time). */
  settle(): void;
  /** The operation still running on an account (by lower-cased resource ID), if any: ARM allows one at a time. */
  runningOperation(accountKey: string): OperationState | undefined;
  /** How many accounts a subscription, or one of its resource groups, holds (without walking the accounts). */
  accountCount(subscriptionId: string, resourceGroup?: string): number;
  log(message: string): void;
}

export type ServiceHandler = (request: EmulatorRequest, context: ServiceContext) => Promise<EmulatorResponse>;
