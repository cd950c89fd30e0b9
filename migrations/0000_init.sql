CREATE TABLE `audit_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant` integer NOT NULL,
	`user_id` text NOT NULL,
	`client_id` text,
	`action` integer NOT NULL,
	`occurred_on` integer NOT NULL,
	`ip` text,
	`user_agent` text,
	`request_id` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `audit_events_tenant_idx` ON `audit_events` (`tenant`,`occurred_on`);--> statement-breakpoint
CREATE INDEX `audit_events_client_idx` ON `audit_events` (`client_id`);--> statement-breakpoint
CREATE TABLE `client_secrets` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`client_id` text NOT NULL,
	`hash` text NOT NULL,
	`created_on` integer NOT NULL,
	`expires_on` integer,
	FOREIGN KEY (`client_id`) REFERENCES `clients`(`client_id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `client_secrets_client_idx` ON `client_secrets` (`client_id`,`expires_on`);--> statement-breakpoint
CREATE UNIQUE INDEX `client_secrets_current_idx` ON `client_secrets` (`client_id`) WHERE "client_secrets"."expires_on" IS NULL;--> statement-breakpoint
CREATE TABLE `clients` (
	`client_id` text PRIMARY KEY NOT NULL,
	`tenant` integer NOT NULL,
	`name` text NOT NULL,
	`description` text,
	`logo` text,
	`website_url` text,
	`terms_url` text,
	`policy_url` text,
	`logout_redirect_uri` text,
	`redirect_uris` text NOT NULL,
	`allowed_origins` text NOT NULL,
	`scopes` text NOT NULL,
	`enabled` integer DEFAULT true NOT NULL,
	`is_public` integer DEFAULT true NOT NULL,
	`allow_pkce` integer DEFAULT false NOT NULL,
	`created_on` integer NOT NULL,
	`created_by` text NOT NULL,
	`modified_on` integer NOT NULL,
	`modified_by` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `clients_tenant_created_idx` ON `clients` (`tenant`,`created_on`,`client_id`);--> statement-breakpoint
CREATE INDEX `clients_tenant_creator_created_idx` ON `clients` (`tenant`,`created_by`,`created_on`,`client_id`);--> statement-breakpoint
CREATE TABLE `consents` (
	`tenant` integer NOT NULL,
	`user_id` text NOT NULL,
	`client_id` text NOT NULL,
	`scopes` text NOT NULL,
	`modified_on` integer NOT NULL,
	PRIMARY KEY(`tenant`, `user_id`, `client_id`),
	FOREIGN KEY (`client_id`) REFERENCES `clients`(`client_id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `consents_user_modified_idx` ON `consents` (`tenant`,`user_id`,`modified_on`,`client_id`);--> statement-breakpoint
CREATE INDEX `consents_client_idx` ON `consents` (`client_id`);--> statement-breakpoint
CREATE TABLE `scopes` (
	`name` text PRIMARY KEY NOT NULL,
	`group` text NOT NULL,
	`type` text NOT NULL
);
