select 'row ' || 5;
select 5 || 'x';
select 'a' || 1.5 || true;
select 'v' || g from generate_series(1, 2) g;
select coalesce(1::bigint, 2);
select 'x' || null;
select 1 || 2;
