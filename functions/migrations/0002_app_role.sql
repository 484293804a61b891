-- The role every function but the migrator connects as: orders_app, APP_USERNAME in
-- functions/orders/settings.py (tests/integration/test_orders_app_role.py checks they agree).
-- Run by the master user. Roles belong to the cluster, not to a database, and an Aurora global
-- database replicates them to every region, so the role may already exist: create it only
-- when it does not, and tolerate a concurrent migrator of another database creating it first.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'orders_app') THEN
        CREATE ROLE orders_app LOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;

-- IAM database authentication: Aurora lets a member of rds_iam in only with an IAM auth
-- token, never with a password. rds_iam exists on Aurora and RDS, not on plain PostgreSQL.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'rds_iam') THEN
        GRANT rds_iam TO orders_app;
    END IF;
END
$$;

DO $$
BEGIN
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO orders_app', current_database());
END
$$;

-- Only the migrator changes the schema. PostgreSQL 15 and later no longer let every role
-- create objects in public; this makes older engines agree (a no-op on newer ones).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO orders_app;

-- Exactly what functions/orders/store.py runs: no DELETE, no TRUNCATE, no DDL. The audit
-- trail (saga_steps) and an order's lines are append-only for the app.
GRANT SELECT, INSERT, UPDATE ON orders, payments, customers, customer_ledger TO orders_app;
GRANT SELECT, INSERT ON order_items, saga_steps TO orders_app;
GRANT USAGE ON SEQUENCE saga_steps_seq_seq TO orders_app;

-- Tables and sequences later migrations create (as the user running this one) start with the
-- app's usual rights; a migration narrows them with REVOKE where the app needs less.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE ON TABLES TO orders_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE ON SEQUENCES TO orders_app;
