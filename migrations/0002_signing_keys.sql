CREATE TABLE `signing_keys` (
	`kid` text PRIMARY KEY NOT NULL,
	`alg` text NOT NULL,
	`slot` integer NOT NULL,
	`public_jwk` text NOT NULL,
	`encrypted_private_jwk` text NOT NULL,
	`created_at` integer NOT NULL,
	`not_before` integer NOT NULL,
	`retire_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `signing_keys_alg_slot_idx` ON `signing_keys` (`alg`,`slot`);