DROP TABLE user_merge;
