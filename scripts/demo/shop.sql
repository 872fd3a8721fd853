-- A small sample application database for scripts/demo.sh.
CREATE TABLE customers (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL,
    email       text NOT NULL UNIQUE,
    phone       text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE products (
    id     serial PRIMARY KEY,
    title  text NOT NULL,
    price  numeric(10,2) NOT NULL
);
CREATE TABLE orders (
    id           bigserial PRIMARY KEY,
    customer_id  bigint NOT NULL REFERENCES customers(id),
    product_id   int NOT NULL REFERENCES products(id),
    quantity     int NOT NULL CHECK (quantity > 0),
    note         text,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_customer_idx ON orders (customer_id);

INSERT INTO customers (name, email, phone)
SELECT 'Customer ' || g, 'customer' || g || '@shopmail.net', '+44 20 7946 ' || lpad(g::text, 4, '0')
FROM generate_series(1, 5000) g;
INSERT INTO products (title, price)
SELECT 'Product ' || g, (g % 100) + 0.99 FROM generate_series(1, 200) g;
INSERT INTO orders (customer_id, product_id, quantity, note)
SELECT 1 + g % 5000, 1 + g % 200, 1 + g % 5,
       CASE WHEN g % 10 = 0 THEN 'call customer' || (1 + g % 5000) || '@shopmail.net back' ELSE NULL END
FROM generate_series(1, 50000) g;
