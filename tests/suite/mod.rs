mod channels;
mod config;
mod parsers;
mod registry;
mod routing;
mod run;
mod telegram_text;
