ALTER TABLE `refresh_families` ADD `user_name` text;--> statement-breakpoint
ALTER TABLE `refresh_families` ADD `user_email` text;