DROP TABLE webauthn_ceremony;
DROP TABLE passkey;
