-- Data-modifying statements with WITH (not supported yet).
create table sales (id int primary key, region text, amount numeric(8,2));
insert into sales values (1, 'n', 10), (2, 'n', 20.5), (3, 's', 7), (4, 'e', null), (5, 's', 3.25);
with t as (select id, amount from sales) update sales set amount = 0 where id in (select id from t where amount < 5) returning id;
with gone as (delete from sales where region = 'e' returning id) select count(*) from gone;
with t as (select 10 as a) insert into sales (id, region, amount) select a, 'w', a from t returning *;
select id, region, amount from sales order by id;
