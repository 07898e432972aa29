-- Expressions and utility forms ExoDB does not support yet (found by the differential corpus).
create table v (id int, a int, b text);
insert into v values (1, 1, 'x'), (2, null, 'y'), (3, 3, null), (4, 1, 'x');
-- Row constructors and row comparison.
select id from v where (a, b) = (1, 'x');
select (1, 2) is null, row(null, null) is null, (1, 2) < (1, 3);
-- Arrays.
select array[1, 2, 3], array['a', null], array[]::int[], (array[1, 2, 3])[2];
-- Unicode escapes, the time type, to_char.
select U&'\0041', U&'d\0061t\+000061';
select time '10:42:00', extract(minute from time '10:42:00');
select to_char(timestamp '2024-03-05 07:08:09', 'YYYY-MM-DD HH24:MI:SS');
-- A set-returning function in the select list.
select generate_series(1, 3);
-- FULL JOIN USING / NATURAL FULL JOIN: the merged column is COALESCE(left, right).
create table fa (id int, x text);
create table fb (id int, y text);
insert into fa values (1, 'a'), (2, 'b');
insert into fb values (2, 'c'), (3, 'd');
select * from fa natural full join fb;
select id, x, y from fa full join fb using (id);
-- Window functions.
select id, sum(a) over () from v order by id;
-- log(numeric, numeric) and libm's cube root.
select log(2, 8), log(2.0, 1024);
select cbrt(27), ||/ 27;
-- Named time zones (with daylight saving time) and extra_float_digits.
set timezone to 'America/New_York';
select timestamptz '2024-01-01 12:00:00+00', timestamptz '2024-07-01 12:00:00+00';
reset timezone;
set extra_float_digits = 0;
select 0.1::float8 + 0.2::float8, 1.0::float8 / 3;
reset extra_float_digits;
-- A table without columns, and PRIMARY KEY given twice on one column.
create table t7 ();
select * from t7;
create table t5 (id int primary key primary key);
