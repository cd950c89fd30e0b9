-- DocSpace's nine OAuth scopes (SPEC §8). Served by GET /api/2.0/scopes and used to validate clients.
INSERT INTO `scopes` (`name`, `group`, `type`) VALUES
	('accounts:read', 'accounts', 'read'),
	('accounts:write', 'accounts', 'write'),
	('accounts.self:read', 'profiles', 'read'),
	('accounts.self:write', 'profiles', 'write'),
	('files:read', 'files', 'read'),
	('files:write', 'files', 'write'),
	('rooms:read', 'rooms', 'read'),
	('rooms:write', 'rooms', 'write'),
	('openid', 'openid', 'openid');
