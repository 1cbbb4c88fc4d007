ALTER TABLE session DROP COLUMN second_factor_at;
ALTER TABLE session DROP COLUMN first_factor_at;
