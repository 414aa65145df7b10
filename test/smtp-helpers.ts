/**
 * A real SMTP server on loopback for the e-mail tests (the npm package `smtp-server`):
 * it accepts every mail without TLS or login, parses it with `mailparser`, and lets a test
 * await the next mail that matches.
 */
import { type ParsedMail, simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";
import { setSettings, type TestServer } from "./helpers.ts";

/** A running SMTP server and the mails it received. */
export interface Inbox {
  readonly port: number;
  readonly mails: ParsedMail[];
  /** Resolves with the first mail (received or to come) that matches. */
  next(match?: (mail: ParsedMail) => boolean): Promise<ParsedMail>;
  close(): Promise<void>;
}

/** Starts an SMTP server on 127.0.0.1 on a free port. */
export async function startInbox(): Promise<Inbox> {
  const mails: ParsedMail[] = [];
  const waiters: { match: (mail: ParsedMail) => boolean; resolve: (m: ParsedMail) => void }[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onData(stream, _session, done) {
      simpleParser(stream).then(
        (mail) => {
          mails.push(mail);
          for (const waiter of [...waiters]) {
            if (waiter.match(mail)) {
              waiters.splice(waiters.indexOf(waiter), 1);
              waiter.resolve(mail);
            }
          }
          done();
        },
        (error: Error) => done(error),
      );
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.server.address() as { port: number }).port;
  return {
    port,
    mails,
    next(match = () => true) {
      const seen = mails.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ match, resolve }));
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Points the workspace's mail at `inbox`, sending from `from`. */
export function useInbox(server: TestServer, inbox: Inbox, from = "chat@parley.example.com") {
  return setSettings(server, {
    SMTP_Host: "127.0.0.1",
    SMTP_Port: String(inbox.port),
    SMTP_Pool: false,
    From_Email: `Parley <${from}>`,
  });
}

/** The address list of a parsed header, as plain text. */
export function addresses(field: ParsedMail["to"] | ParsedMail["from"]): string {
  if (!field) return "";
  return (Array.isArray(field) ? field : [field]).map((a) => a.text).join(", ");
}
