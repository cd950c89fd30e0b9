CREATE TABLE `authorization_codes` (
	`code_hash` text PRIMARY KEY NOT NULL,
	`client_id` text NOT NULL,
	`tenant` integer NOT NULL,
	`user_id` text NOT NULL,
	`redirect_uri` text NOT NULL,
	`scopes` text NOT NULL,
	`code_challenge` text,
	`nonce` text,
	`auth_time` integer NOT NULL,
	`created_on` integer NOT NULL,
	`expires_on` integer NOT NULL,
	`consumed_on` integer,
	`replayed_on` integer,
	`family_id` text
);
--> statement-breakpoint
CREATE INDEX `authorization_codes_expires_idx` ON `authorization_codes` (`expires_on`);--> statement-breakpoint
CREATE TABLE `authorization_requests` (
	`id` text PRIMARY KEY NOT NULL,
	`csrf_hash` text NOT NULL,
	`client_id` text NOT NULL,
	`tenant` integer NOT NULL,
	`user_id` text NOT NULL,
	`redirect_uri` text NOT NULL,
	`scopes` text NOT NULL,
	`state` text,
	`code_challenge` text,
	`nonce` text,
	`created_on` integer NOT NULL,
	`expires_on` integer NOT NULL,
	`consumed_on` integer
);
--> statement-breakpoint
CREATE INDEX `authorization_requests_expires_idx` ON `authorization_requests` (`expires_on`);--> statement-breakpoint
CREATE TABLE `refresh_families` (
	`family_id` text PRIMARY KEY NOT NULL,
	`client_id` text NOT NULL,
	`tenant` integer NOT NULL,
	`user_id` text NOT NULL,
	`scopes` text NOT NULL,
	`created_on` integer NOT NULL,
	`expires_on` integer NOT NULL,
	`revoked_on` integer,
	`revoked_reason` text
);
--> statement-breakpoint
CREATE INDEX `refresh_families_client_user_idx` ON `refresh_families` (`client_id`,`user_id`);--> statement-breakpoint
CREATE INDEX `refresh_families_expires_idx` ON `refresh_families` (`expires_on`);--> statement-breakpoint
CREATE TABLE `refresh_tokens` (
	`token_hash` text PRIMARY KEY NOT NULL,
	`family_id` text NOT NULL,
	`created_on` integer NOT NULL,
	`expires_on` integer NOT NULL,
	`rotated_on` integer,
	`replaced_by` text,
	FOREIGN KEY (`family_id`) REFERENCES `refresh_families`(`family_id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `refresh_tokens_family_idx` ON `refresh_tokens` (`family_id`);