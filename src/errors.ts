// Every error Orchard raises, and every error code it answers or writes, in one place, grouped by area.
// Each code is ORCHARD_ERR_<AREA>_<CONDITION>; an error has the HTTP status it is answered with where
// it has one, and `{ cause }` for the lower-level error. Match on `err.code`, never on the message.
//
// Codes shared by every push route (Jamf Pro webhooks, Jamf Protect alerts, logs) are named for
// intake (ORCHARD_ERR_INTAKE_*); until version 0.2 they were named ORCHARD_ERR_WEBHOOK_* (docs/jamf-pro.md
// lists the renames).
//
// The classes live in src/errors/, a file per area; this module is the one door to all of them.

export * from './errors/orchard-error.ts';
export * from './errors/intake.ts';
export * from './errors/startup.ts';
export * from './errors/redis.ts';
export * from './errors/vendor.ts';
export * from './errors/import.ts';
export * from './errors/consumer.ts';
