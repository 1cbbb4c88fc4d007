DROP TABLE backchannel_outbox;
