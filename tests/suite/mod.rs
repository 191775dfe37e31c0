mod channels;
mod config;
mod outbox;
mod parsers;
mod registry;
mod routing;
mod run;
mod telegram_text;
