ALTER TABLE `authorization_codes` ADD `user_name` text;--> statement-breakpoint
ALTER TABLE `authorization_codes` ADD `user_email` text;