-- WITH (non-recursive common table expressions).
create table sales (id int primary key, region text, amount numeric(8,2));
insert into sales values (1, 'n', 10), (2, 'n', 20.5), (3, 's', 7), (4, 'e', null), (5, 's', 3.25);
with t as (select region, sum(amount) as total from sales group by region) select * from t order by region;
with t as (select * from sales where amount > 5) select count(*), sum(amount) from t;
with a as (select 1 as x), b as (select x + 1 as y from a) select x, y from a, b;
with t(n, r) as (select id, region from sales) select n from t where r = 's' order by n;
with t as (select id from sales) select * from t join sales s on s.id = t.id where s.region = 'n' order by t.id;
with t as (select id, amount from sales) select id from t where amount is null;
with big as (select * from sales where amount >= 10) select region from sales where id in (select id from big) order by region;
with t as (select 1 as x union all select 2) select sum(x) from t;
with t as (select region from sales) select region, count(*) from t group by region order by 2 desc, 1;
with t as (select * from sales) select * from t order by amount desc nulls last limit 2;
with t as (select 1 as x) select * from t t1, t t2;
with t as (select 1) select * from nosuch;
with t as (select 1 as x), t as (select 2 as x) select * from t;
select (with t as (select max(id) as m from sales) select m from t);
select count(*) from sales;
