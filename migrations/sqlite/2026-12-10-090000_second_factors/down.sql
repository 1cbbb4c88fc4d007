DROP TABLE recovery_code;
DROP TABLE totp_factor;
