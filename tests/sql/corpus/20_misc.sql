-- Miscellaneous functions and errors.
select greatest(date '2024-01-01', date '2023-01-01'), least(interval '1 day', interval '2 hours');
select 'abc' similar to 'a%', 'x' is json;
select * from (values (1), (2)) as t(x) tablesample system (100);
select interval '1 day' / 0;
select 9223372036854775807::bigint * 2;
select '1.5'::numeric(2,1) + 8.5;
select quote_ident('A b'), quote_ident('abc'), quote_ident('Abc'), quote_literal('it''s'), quote_literal(E'a\\b');
select to_hex(255), to_hex(0), to_hex(-1), to_hex(9223372036854775807), to_hex(-1::bigint);
select translate('abc', 'ab', 'xy'), translate('abcabc', 'abc', 'x'), translate(null, 'a', 'b');
select starts_with('hello', 'he'), starts_with('hello', 'lo'), starts_with('', '');
select 'abc' ~ 'b', 'ABC' ~* 'b', 'abc' !~ 'z', 'abc' ~ '^a.c$';
