/*
 * One account's key rotation (the read-write pair), as Promela for spin.
 * model/README.md says what each part stands for, the bounds, and how to run it.
 *
 * One process takes one atomic step at a time, chosen among every step that is
 * enabled: a clock tick, a consumer reading Key Vault or using its key, Azure
 * reporting usage or finishing a regeneration, the rotator's next step, an
 * operator's start, cancel, force or consumers-moved, a crash. spin explores
 * every order of them.
 *
 * Time is in ticks of 6 hours. Ages (ticks since an event) stop counting at
 * OLD = W + 1: everything older than the idle window looks the same to every
 * rule, which keeps the state space finite without a horizon.
 *
 * Broken variants: compile with -D<VARIANT> (see model/check.mjs):
 *   STANDBY_IGNORES_PUBLISH  the standby wait looks only at the last use (the code before issue 10)
 *   START_OVER               every start is a fresh rotation: no resume (the code before issue 10)
 *   MARKER_IGNORED           a restart before publishing ignores the regeneration marker and starts over
 *                            (issue 10 before issue-10b: the standby is regenerated again)
 *   MARK_AT_NOW              the marker is dated when it is written, not from the run's start (issue-10b as
 *                            first written; with two stops an unpublished standby is regenerated again: --wide)
 *   WAIT_TRUSTS_USAGE        the consumer wait trusts the lagging usage report: no publish-time floor
 *   NO_ALREADY_CHECK         beginRegenerateKey does not look at the key's generation time
 *   UNBOUNDED_REFUSALS       safe-check refusals are retried with no deadline
 *   NO_MONITOR               the new key is validated and published as soon as Azure accepts its regeneration
 *   PUBLISH_NOT_IDEMPOTENT   publishKey does not look for this rotation's version
 * Witnesses (-DWITNESS_ROTATED, _RESUMED, _VALIDATING, _REFUSED) fail when the model reaches what they name.
 * Properties (all on unless some CHECK_* is defined, then only those):
 *   CHECK_P1 consumers, CHECK_P2 regenerations, CHECK_P3 bounds, CHECK_P4 Key Vault, CHECK_P5 versions
 */

/* ---- bounds and settings, in ticks of 6 h (README defaults: 12 h, 24 h, 48 h, 72 h) ---- */
#ifndef W
#define W 2                 /* IDLE_WINDOW_IN_HOURS 12 */
#endif
#define OLD (W + 1)         /* an age past the idle window */
#ifndef LAG
#define LAG 1               /* a use shows in the usage report at most LAG ticks late */
#endif
#ifndef LATE
#define LATE 4              /* the late consumer re-reads Key Vault every 24 h */
#endif
#ifndef STANDBY_MAX
#define STANDBY_MAX 8       /* STANDBY_WAIT_MAX_IN_HOURS 48 */
#endif
#ifndef CONSUMER_MAX
#define CONSUMER_MAX 12     /* CONSUMER_WAIT_MAX_IN_HOURS 72 */
#endif
#ifndef REGEN_MAX
#define REGEN_MAX 4         /* MAX_REGENERATION_HOURS 24: busy answers, and following one regeneration */
#endif
#ifndef REGEN_TICKS
#define REGEN_TICKS 1       /* Azure takes 0..REGEN_TICKS ticks to regenerate a key */
#endif
/* operator and fault budgets over a whole run */
#ifndef STARTS
#define STARTS 3
#endif
#ifndef CANCELS
#define CANCELS 1
#endif
#ifndef CRASHES
#define CRASHES 1
#endif
#ifndef FAILURES
#define FAILURES 1
#endif
#ifndef FORCES
#define FORCES 1
#endif
#ifndef CONFIRMS
#define CONFIRMS 1
#endif

#if !defined(CHECK_P1) && !defined(CHECK_P2) && !defined(CHECK_P3) && !defined(CHECK_P4) && !defined(CHECK_P5)
#define CHECK_P1
#define CHECK_P2
#define CHECK_P3
#define CHECK_P4
#define CHECK_P5
#endif

#define NOKEY 2             /* keys: 0 primary, 1 secondary */
#define NOREP 255           /* no use waits to be reported */

/* rotator phases (RotationPhase in src/workflow/rotation-types.ts) */
#define IDLE 0              /* no orchestration running */
#define STANDBY_WAIT 1      /* waitingForStandbyIdle */
#define REGEN_STANDBY 2     /* regeneratingStandby: beginRegenerateKey */
#define MONITOR_STANDBY 3   /* regeneratingStandby: getRegenerationStatus */
#define VALIDATE 4          /* validating */
#define PUBLISH 5           /* publishing */
#define CONSUMER_WAIT 6     /* waitingForConsumers */
#define REGEN_OLD 7         /* regeneratingOldKey: beginRegenerateKey */
#define MONITOR_OLD 8       /* regeneratingOldKey: getRegenerationStatus */

/* how the last orchestration ended */
#define NONE_YET 0
#define ROTATED 1
#define ATTENTION 2
#define FAILED 3
#define CANCELLED 4

/* ---- Azure: the account ---- */
bool safeCheck;             /* EnableKeyCheckBeforeRegenerationPreview */
bool regenSincePub[2];      /* regenerated after the latest Key Vault version was written */
bool regenSinceStart[2];    /* generationTime after the current rotation's start */
byte usedAge[2];            /* ticks since the key's last use, as the safe check sees it */
byte repAge[2];             /* the same, as approximateLastUsageTime reports it (lags) */
byte unrep[2] = NOREP;      /* age of the oldest use not reported yet */
byte opKey = NOKEY;         /* key whose regeneration Azure is running */
byte opLeft;                /* ticks before it finishes */
bool opFails;               /* it will end Failed */
bool opExcused;             /* it was begun forced or after an operator's confirmation */
bool opStandby;             /* it was begun as a rotation's standby (regeneratingStandby) */
byte doneKey = NOKEY;       /* key of the last finished regeneration */
bool doneFailed;

/* ---- Azure: Key Vault, the latest version of the secret ---- */
byte kvKey;                 /* keyKind */
bool kvValid = true;        /* its value is still the key's value */
bool kvTagged;              /* written by a rotation (rotationId tag), not by hand */
byte kvAge;                 /* ticks since it was written (createdOn) */
bool kvByThis;              /* tagged with the running rotation's rotationId */
bool kvMarked;              /* carries a regeneration marker (markRegeneration): the rotation that put it
                               there regenerates other(kvKey), the key Key Vault does not hold */
bool markRegen;             /* the marked key was regenerated at or after the marker (regeneratedSince) */

/* ---- consumers: which key each holds and whether it still works ---- */
byte pKey; bool pValid = true; byte pAge;   /* prompt: re-reads Key Vault at least every W */
byte lKey; bool lValid = true; byte lAge;   /* late: re-reads every LATE, uses its key all the time */
byte nKey = NOKEY; bool nValid = true;      /* pinned: never re-reads, uses its key all the time */

/* ---- the rotator (one orchestration instance at a time) ---- */
byte pc = IDLE;
byte act;                   /* the key consumers used when the rotation began (the old key) */
bool force;
bool confirmed;             /* ConsumersMoved event received */
byte resumed;               /* this run resumed a stopped rotation: 0 no, CONSUMER_WAIT or VALIDATE (where) */
byte wake;                  /* ticks until the durable timer fires */
byte dl;                    /* ticks left of the current wait's bound */
bool troubleSeen; byte troubleDl; /* busy or Failed: deadline from the first such answer */
bool refSeen; byte refDl;   /* refusal deadline, from the first refusal */
byte monDl;                 /* ticks left to follow a regeneration */
byte phaseAge;              /* ticks in the current phase group (ghost, for P3) */
byte next;                  /* scratch for enter(), always 0 between steps */
byte lastEnd = NONE_YET;    /* how the last orchestration ended */
bool endedWaitingConsumers; /* it stopped at the consumer wait */

/* ---- budgets ---- */
byte starts = STARTS, cancels = CANCELS, crashes = CRASHES, failures = FAILURES, forces = FORCES, confirms = CONFIRMS;

/* ---- for the counterexample's story only: not part of the state ---- */
hidden byte clock;
hidden byte heldP, heldL;
#define at printf("%d h: ", clock * 6)

/* ---- ghosts for the properties ---- */
bool regThis[2];           /* regenerated in the current rotation (rotationId; a resume keeps it) */
bool unpublished[2];       /* regenerated as a standby and not published since (the rotation is not over) */

#define other(k) (1 - (k))
#define standby (other(act))
#define older(a) ((a) >= OLD -> OLD : (a) + 1)
#define regenKey (pc == REGEN_STANDBY || pc == MONITOR_STANDBY -> standby : act)
#define inRegen (pc == REGEN_STANDBY || pc == MONITOR_STANDBY || pc == REGEN_OLD || pc == MONITOR_OLD)
#define phaseBound (pc == STANDBY_WAIT -> STANDBY_MAX : \
                    (pc == REGEN_STANDBY || pc == MONITOR_STANDBY -> 3 * REGEN_MAX + STANDBY_MAX : \
                    (pc == CONSUMER_WAIT -> CONSUMER_MAX : \
                    (pc == REGEN_OLD || pc == MONITOR_OLD -> 3 * REGEN_MAX + CONSUMER_MAX : 0))))

/* Idle rules (src/domain/rotation-plan.ts): idle from last use + W + margin; the margin is a tick here. */
#define reportedIdle(k) (repAge[k] == OLD)
#ifdef STANDBY_IGNORES_PUBLISH
#define standbyIdle(k) (reportedIdle(k))
#else
/* keyCountsAsUsedUntil(lastUsedAt, successorPublishedAt(k)): when this app published the
   other key (a tagged version) and k was not regenerated since, k counts as used until then */
#define standbyIdle(k) (reportedIdle(k) && (!(kvTagged && kvKey == other(k) && !regenSincePub[k]) || kvAge == OLD))
#endif
#ifdef WAIT_TRUSTS_USAGE
#define oldKeyIdle(k) (reportedIdle(k))
#else
/* oldKeyInUseUntil: in use at least until the new key was published */
#define oldKeyIdle(k) (reportedIdle(k) && kvAge == OLD)
#endif

/* whereRotationStopped: this app published the latest version and the key it replaced was not regenerated since */
#define stoppedAtConsumerWait (kvTagged && !regenSincePub[other(kvKey)])

inline keyName(k) {
  if :: k == 0 -> printf("primary") :: k == 1 -> printf("secondary") :: else -> printf("no key") fi
}

inline phaseName(p) {
  if
  :: p == STANDBY_WAIT -> printf("waitingForStandbyIdle")
  :: p == REGEN_STANDBY || p == MONITOR_STANDBY -> printf("regeneratingStandby")
  :: p == VALIDATE -> printf("validating")
  :: p == PUBLISH -> printf("publishing")
  :: p == CONSUMER_WAIT -> printf("waitingForConsumers")
  :: p == REGEN_OLD || p == MONITOR_OLD -> printf("regeneratingOldKey")
  :: else -> printf("idle")
  fi
}

inline use(k) {
  usedAge[k] = 0;
  if
  :: unrep[k] == NOREP -> unrep[k] = 0
  :: else -> skip
  fi
}

inline resetRotator() {
  pc = IDLE; act = 0; force = false; confirmed = false; resumed = 0; wake = 0; dl = 0;
  troubleSeen = false; troubleDl = 0; refSeen = false; refDl = 0; monDl = 0; phaseAge = 0;
  kvByThis = false
}

inline finish(outcome) {
  at; printf("rotation ends ");
  if
  :: outcome == ROTATED -> printf("rotated")
  :: outcome == ATTENTION -> printf("needsAttention")
  :: outcome == FAILED -> printf("failed")
  :: else -> printf("cancelled")
  fi;
  printf(" (in "); phaseName(pc); printf(")\n");
  /* witnesses: the model can reach what the properties are about (each must fail) */
#ifdef WITNESS_ROTATED
  assert(!(outcome == ROTATED && !force && !confirmed));    /* rotated by waiting alone */
#endif
#ifdef WITNESS_RESUMED
  assert(!(outcome == ROTATED && resumed != 0));            /* a resumed rotation finishes */
#endif
#ifdef WITNESS_VALIDATING
  assert(!(outcome == ROTATED && resumed == VALIDATE));     /* one resumed at validation finishes */
#endif
#ifdef WITNESS_REFUSED
  assert(!(outcome == ROTATED && refSeen && !force));      /* rotated after safe-check refusals */
#endif
  lastEnd = outcome;
  endedWaitingConsumers = (pc == CONSUMER_WAIT);
  resetRotator()
}

inline enter(phase) {
  next = phase;
  if
  :: (next == MONITOR_STANDBY || next == MONITOR_OLD) -> skip     /* same phase group as its begin */
  :: else -> phaseAge = 0; troubleSeen = false; troubleDl = 0; refSeen = false; refDl = 0
  fi;
  if
  :: pc != next && next != MONITOR_STANDBY && next != MONITOR_OLD -> at; printf("phase "); phaseName(next); printf("\n")
  :: else -> skip
  fi;
  pc = next; wake = 0;
  if
  :: pc == STANDBY_WAIT -> dl = STANDBY_MAX
  :: pc == CONSUMER_WAIT -> dl = CONSUMER_MAX
  :: else -> dl = 0
  fi;
  if
  :: pc == MONITOR_STANDBY || pc == MONITOR_OLD -> monDl = REGEN_MAX
  :: else -> monDl = 0
  fi;
  next = 0
}

/* The regeneration a phase waited for is done: go on. */
inline regenerated() {
  if
  :: pc == REGEN_STANDBY || pc == MONITOR_STANDBY -> enter(VALIDATE)
  :: else -> finish(ROTATED)
  fi
}

/* Busy, or Azure reported Failed: ask again, within REGEN_MAX of the first such answer. */
inline askAgain() {
  if
  :: troubleSeen && troubleDl == 0 -> finish(FAILED)
  :: else ->
    if :: !troubleSeen -> troubleSeen = true; troubleDl = REGEN_MAX :: else -> skip fi;
    wake = 1
  fi
}

/* Azure starts regenerating the phase's key; `crash`: the answer is lost and the activity runs again. */
inline beginOp(ticks, fails, crash) {
  opKey = regenKey; opLeft = ticks; opFails = fails; opExcused = force || confirmed; opStandby = (pc == REGEN_STANDBY);
  at; printf("Azure starts regenerating "); keyName(opKey); printf(" (%d h", ticks * 6);
  if :: fails -> printf(", will fail") :: else -> skip fi;
  if :: opExcused -> printf(", forced or confirmed") :: else -> skip fi;
  if :: crash -> printf("; a crash loses the answer") :: else -> skip fi;
  printf(")\n");
  if
  :: fails -> failures-- 
  :: else -> skip
  fi;
  if
  :: crash -> crashes--                       /* the orchestrator asks again */
  :: else ->
#ifdef NO_MONITOR
    if
    :: pc == REGEN_STANDBY -> enter(VALIDATE)
    :: else -> enter(pc + 1)
    fi
#else
    enter(pc + 1)                             /* REGEN_x + 1 == MONITOR_x */
#endif
  fi
}

/*
 * markRegeneration (issue-10b): a new rotation, about to regenerate its standby,
 * tags Key Vault's latest version (no new version, the value untouched) with its
 * rotationId, the standby, the time and the standby's generation time before.
 */
inline markRegeneration() {
  kvMarked = true;
#ifndef MARK_AT_NOW
  markRegen = regenSinceStart[standby];   /* markedAt = the run's start: a regeneration since then counts */
#else
  markRegen = false;                      /* broken: markedAt = now: one that finished since the run's start does not */
#endif
  at; printf("Key Vault: the latest version is marked: this rotation regenerates "); keyName(standby); printf("\n")
}

/*
 * A start, from the schedule, the API or a retry. Issue 10: it first works out
 * where the last rotation stopped from the account and Key Vault, and resumes.
 */
inline start(withForce, withConfirm) {
  starts--;
  resetRotator();
  force = withForce;
  confirmed = withConfirm;
  at; printf("a rotation starts");
  if :: force -> printf(", forced") :: else -> skip fi;
  if :: confirmed -> printf(", from consumers-moved") :: else -> skip fi;
  printf(" (Key Vault holds "); keyName(kvKey); printf(")\n");
#ifdef START_OVER
  act = kvKey; confirmed = false;
  regenSinceStart[0] = false; regenSinceStart[1] = false; regThis[0] = false; regThis[1] = false;
  if
  :: force -> enter(REGEN_STANDBY); markRegeneration()
  :: else -> enter(STANDBY_WAIT)
  fi
#else
  if
  :: stoppedAtConsumerWait ->
    /* whereRotationStopped: published, the old key not regenerated since: resume at the consumer wait */
    act = other(kvKey); kvByThis = true; resumed = CONSUMER_WAIT;
    at; printf("it resumes the stopped rotation at the consumer wait\n");
    if
    :: force || confirmed -> enter(REGEN_OLD)
    :: else -> enter(CONSUMER_WAIT)
    fi
#ifndef MARKER_IGNORED
  :: !stoppedAtConsumerWait && kvMarked && markRegen ->
    /* whereRotationStopped (issue-10b): the latest version's marker names the standby and it was
       regenerated since: resume at validation under the marker's rotationId (regThis kept) */
    act = kvKey; confirmed = false; resumed = VALIDATE;
    at; printf("it resumes the stopped rotation at validation ("); keyName(standby); printf(" regenerated after the marker)\n");
    enter(VALIDATE)
#endif
  :: else ->
    /* a new rotation (one stopped before regenerating anything starts again) */
    act = kvKey; confirmed = false;
    regenSinceStart[0] = false; regenSinceStart[1] = false; regThis[0] = false; regThis[1] = false;
    if
    :: force -> enter(REGEN_STANDBY); markRegeneration()
    :: else -> enter(STANDBY_WAIT)
    fi
  fi
#endif
}

/* publishKey: a new version holding the standby key, tagged with this rotation. */
inline publish() {
#ifdef CHECK_P5
  assert(!(kvKey == standby && kvValid));     /* P5: a new version never repeats the latest one's key */
#endif
  at; printf("Key Vault: new version holding "); keyName(standby); printf("\n");
  kvKey = standby; kvValid = true; kvTagged = true; kvAge = 0; kvByThis = true;
  kvMarked = false; markRegen = false; unpublished[standby] = false;   /* a new version carries no marker */
  regenSincePub[0] = false; regenSincePub[1] = false
}

/* The publishKey activity: idempotent per rotation (its rotationId tag). */
inline publishKey() {
  if
#ifndef PUBLISH_NOT_IDEMPOTENT
  :: kvByThis && kvKey == standby -> skip                      /* alreadyPublished */
#endif
  :: else -> publish()
  fi
}

/* Azure finishes the regeneration of opKey. */
inline complete() {
  if
  :: opFails -> doneFailed = true; at; printf("Azure: the regeneration of "); keyName(opKey); printf(" failed\n")
  :: else ->
    doneFailed = false;
    at; printf("Azure: "); keyName(opKey); printf(" regenerated");
    if :: pKey == opKey && pValid -> printf("; the prompt consumer still holds it") :: else -> skip fi;
    if :: lKey == opKey && lValid -> printf("; the late consumer still holds it") :: else -> skip fi;
    if :: nKey == opKey && nValid -> printf("; the pinned consumer uses it") :: else -> skip fi;
    if :: kvKey == opKey && kvValid -> printf("; Key Vault holds it") :: else -> skip fi;
    printf("\n");
#ifdef CHECK_P1
    /* P1: no consumer that follows the contract holds a key that is regenerated, unless forced or confirmed */
    assert(!(pKey == opKey && pValid) || opExcused);   /* prompt: re-reads within the idle window */
    assert(!(lKey == opKey && lValid) || opExcused);   /* late (24 h), its key in use */
    assert(!(nKey == opKey && nValid) || opExcused);   /* pinned, its key in use */
#endif
#ifdef CHECK_P4
    assert(!(kvKey == opKey && kvValid));              /* P4: Key Vault always holds a valid key */
#endif
#ifdef CHECK_P2
    assert(!regThis[opKey]);                           /* P2: no key is regenerated twice in one rotation */
    /* P2 across a restart: a standby regenerated by a rotation that stopped before publishing it is not
       regenerated again (that rotation is not over: its marker carries its rotationId to the next start) */
    assert(!(opStandby && unpublished[opKey]));
#endif
    regThis[opKey] = true;
    if :: opStandby -> unpublished[opKey] = true :: else -> skip fi;
    if :: kvMarked && opKey == other(kvKey) -> markRegen = true :: else -> skip fi;
    if :: pKey == opKey -> pValid = false :: else -> skip fi;
    if :: lKey == opKey -> lValid = false :: else -> skip fi;
    if :: nKey == opKey -> nValid = false :: else -> skip fi;
    if :: kvKey == opKey -> kvValid = false :: else -> skip fi;
    regenSincePub[opKey] = true; regenSinceStart[opKey] = true;
    usedAge[opKey] = OLD; repAge[opKey] = OLD; unrep[opKey] = NOREP    /* the new key was never used */
  fi;
  doneKey = opKey; opKey = NOKEY; opLeft = 0; opFails = false; opExcused = false; opStandby = false
}

/*
 * The clock moves on one tick, once everything due now has happened. Consumers
 * and usage reports act at the start of each tick (reading Key Vault later in
 * a tick only gets a newer version; using a key later in a tick is a use at
 * the next one), which keeps the orders within a tick to those that matter.
 */
inline tick() {
#ifdef CHECK_P3
  assert(pc == IDLE || phaseAge < phaseBound);  /* P3: every phase ends within its bound */
#endif
  clock++;
  if :: pc != IDLE && phaseAge < 255 -> phaseAge++ :: else -> skip fi;
  if :: wake > 0 -> wake-- :: else -> skip fi;
  if :: dl > 0 -> dl-- :: else -> skip fi;
  if :: troubleDl > 0 -> troubleDl-- :: else -> skip fi;
  if :: refDl > 0 -> refDl-- :: else -> skip fi;
  if :: monDl > 0 -> monDl-- :: else -> skip fi;
  if :: opKey != NOKEY -> opLeft-- :: else -> skip fi;
  pAge++; lAge++; kvAge = older(kvAge);
  usedAge[0] = older(usedAge[0]); usedAge[1] = older(usedAge[1]);
  repAge[0] = older(repAge[0]); repAge[1] = older(repAge[1]);
  if :: unrep[0] != NOREP -> unrep[0]++ :: else -> skip fi;
  if :: unrep[1] != NOREP -> unrep[1]++ :: else -> skip fi;
  /* the prompt consumer may use its key, and reads Key Vault at least every W */
  if :: pValid -> use(pKey) :: skip fi;
  if
  :: pAge == W -> pKey = kvKey; pValid = kvValid; pAge = 0
  :: pAge < W -> skip
  :: pAge < W && (pKey != kvKey || pValid != kvValid) -> pKey = kvKey; pValid = kvValid; pAge = 0
  fi;
  if :: pAge == 0 && (pKey != heldP) -> at; printf("the prompt consumer reads Key Vault: "); keyName(pKey); printf("\n") :: else -> skip fi;
  heldP = pKey;
  /* the late consumer uses its key all the time and reads Key Vault at least every LATE */
  if :: lValid -> use(lKey) :: else -> skip fi;
  if
  :: lAge == LATE -> lKey = kvKey; lValid = kvValid; lAge = 0
  :: lAge < LATE -> skip
  :: lAge < LATE && (lKey != kvKey || lValid != kvValid) -> lKey = kvKey; lValid = kvValid; lAge = 0
  fi;
  if :: lAge == 0 && (lKey != heldL) -> at; printf("the late consumer reads Key Vault: "); keyName(lKey); printf("\n") :: else -> skip fi;
  heldL = lKey;
  /* the pinned consumer uses its key all the time */
  if :: nKey != NOKEY && nValid -> use(nKey) :: else -> skip fi;
  /* Azure reports each use at most LAG ticks late */
  if
  :: unrep[0] == NOREP -> skip
  :: unrep[0] != NOREP -> repAge[0] = usedAge[0]; unrep[0] = NOREP
  :: unrep[0] != NOREP && unrep[0] < LAG -> skip
  fi;
  if
  :: unrep[1] == NOREP -> skip
  :: unrep[1] != NOREP -> repAge[1] = usedAge[1]; unrep[1] = NOREP
  :: unrep[1] != NOREP && unrep[1] < LAG -> skip
  fi
}

#define canTick (!(pc != IDLE && wake == 0) && !(opKey != NOKEY && opLeft == 0))

init {
  /* ---- the account's history ---- */
  atomic {
    if :: safeCheck = false :: safeCheck = true fi;
    kvKey = 0; kvTagged = false;
    usedAge[0] = OLD; usedAge[1] = OLD; repAge[0] = OLD; repAge[1] = OLD;
    if
    :: /* settled: the primary was put in Key Vault by hand long ago; consumers use it */
      kvAge = OLD; pKey = 0; lKey = 0
    :: /* a rotation published the primary just now and stopped (cancelled at the consumer wait);
          consumers may still hold the secondary it replaced */
      kvAge = 0; kvTagged = true; lastEnd = CANCELLED; endedWaitingConsumers = true;
      regThis[0] = true; regenSinceStart[0] = true;
      pKey = 1;
      if :: lKey = 1 :: lKey = 0 fi;
      if :: pAge = 0 :: pAge = W - 1 fi;
      if :: lAge = 0 :: lAge = LATE / 2 :: lAge = LATE - 1 fi
    fi;
    if :: nKey = NOKEY :: nKey = 0 :: nKey = 1 fi;
    /* the late and pinned consumers have used their keys all along: the report is as stale as the lag allows */
    usedAge[lKey] = 0; repAge[lKey] = LAG; unrep[lKey] = 0;
    if :: nKey != NOKEY -> usedAge[nKey] = 0; repAge[nKey] = LAG; unrep[nKey] = 0 :: else -> skip fi
  }
  do
  /* ---- time ---- */
  :: atomic { canTick -> tick() }

  /* ---- Azure ---- */
  :: atomic { opKey != NOKEY && opLeft == 0 -> complete() }

  /* ---- operators ---- */
  :: atomic { pc == IDLE && starts > 0 -> start(false, false) }
  :: atomic { pc == IDLE && starts > 0 && forces > 0 -> forces--; start(true, false) }
  :: atomic { pc != IDLE && cancels > 0 -> cancels--; at; printf("an operator cancels\n"); finish(CANCELLED) }
  :: atomic { pc == CONSUMER_WAIT && !confirmed && confirms > 0 -> confirms--; confirmed = true; wake = 0;
              at; printf("an operator sends consumers-moved\n") }
#ifndef START_OVER
  /* issue 10: consumers-moved on a rotation that stopped at the consumer wait (needs attention,
     cancelled, failed) resumes it at the old key */
  :: atomic { pc == IDLE && endedWaitingConsumers && starts > 0 && confirms > 0 &&
              stoppedAtConsumerWait -> confirms--; start(false, true) }
#endif

  /* ---- the rotator: waits (inspectAccount, then decide) ---- */
  :: atomic { pc == STANDBY_WAIT && wake == 0 ->
      if
      :: standbyIdle(standby) -> enter(REGEN_STANDBY); markRegeneration()
      :: else ->
        if
        :: dl == 0 -> finish(ATTENTION)
        :: else -> wake = 1
        fi
      fi }
  :: atomic { pc == CONSUMER_WAIT && wake == 0 ->
      if
      :: confirmed || oldKeyIdle(act) -> enter(REGEN_OLD)
      :: else ->
        if
        :: dl == 0 -> finish(ATTENTION)
        :: else -> wake = 1
        fi
      fi }
  /* a coarser timer: the code looks again later than the next tick (never past the bound) */
  :: atomic { (pc == STANDBY_WAIT || (pc == CONSUMER_WAIT && !confirmed)) && wake == 0 && dl > 0 -> wake = 1 }

  /* ---- the rotator: beginRegenerateKey ---- */
  :: atomic { (pc == REGEN_STANDBY || pc == REGEN_OLD) && wake == 0 ->
      if
#ifndef NO_ALREADY_CHECK
      /* alreadyRegenerated: the standby since this run started, the old key since its successor was published */
      :: (pc == REGEN_STANDBY && regenSinceStart[standby]) || (pc == REGEN_OLD && regenSincePub[act]) -> regenerated()
#endif
      :: else ->
        if
        :: opKey != NOKEY -> askAgain()                        /* busy: 409 / 412 */
        :: else ->
          if
          :: safeCheck && !force && usedAge[regenKey] <= W ->  /* refused by the safe-rotation check */
            if :: !refSeen -> refSeen = true; refDl = (pc == REGEN_STANDBY -> STANDBY_MAX : CONSUMER_MAX) :: else -> skip fi;
            /* retryAt = reported last use + W + margin, at least a tick on */
            wake = (repAge[regenKey] >= W -> 1 : W + 1 - repAge[regenKey]);
            at; printf("Azure's safe-rotation check refuses: retry in %d h\n", wake * 6);
#ifndef UNBOUNDED_REFUSALS
            if :: wake > refDl -> finish(ATTENTION) :: else -> skip fi
#endif
          :: else ->                                           /* started */
            if
            :: beginOp(0, false, false)
            :: REGEN_TICKS > 0 -> beginOp(REGEN_TICKS, false, false)
            :: failures > 0 -> beginOp(0, true, false)
            :: crashes > 0 -> beginOp(0, false, true)
            :: crashes > 0 && REGEN_TICKS > 0 -> beginOp(REGEN_TICKS, false, true)
            fi
          fi
        fi
      fi }

  /* ---- the rotator: getRegenerationStatus ---- */
  :: atomic { (pc == MONITOR_STANDBY || pc == MONITOR_OLD) && wake == 0 ->
      if
      :: opKey == regenKey ->
        if
        :: monDl == 0 -> finish(FAILED)
        :: else -> wake = 1
        fi
      :: else ->
        if
        :: doneKey == regenKey && doneFailed -> pc = pc - 1; askAgain()   /* Failed: begin again */
        :: else -> regenerated()
        fi
      fi }

  /* ---- the rotator: validateKey, publishKey ---- */
  :: atomic { pc == VALIDATE -> enter(PUBLISH) }
  :: atomic { pc == PUBLISH -> publishKey();
      if
      :: force -> enter(REGEN_OLD)
      :: else -> enter(CONSUMER_WAIT)
      fi }
  :: atomic { pc == PUBLISH && crashes > 0 -> crashes--; publishKey(); at; printf("a crash loses publishKey's answer\n") }   /* done, the answer lost: it runs again */
  od
}
