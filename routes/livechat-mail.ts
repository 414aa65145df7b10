/**
 * The Omnichannel routes that send e-mail: the widget's offline form
 * (`livechat/offline.message`), a visitor's transcript (`livechat/transcript`), and an
 * agent's request for the transcript to be sent when the conversation closes
 * (`livechat/transcript/:rid`, POST to ask, DELETE to cancel).
 */
import { Elysia, t } from "elysia";
import { ClientError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { Services } from "../services/index.ts";
import { sendOfflineMessage } from "../services/livechat-offline.ts";
import {
  discardTranscriptRequest,
  requestTranscript,
  sendTranscript,
} from "../services/livechat-transcripts.ts";
import { apiBase, ok } from "./http.ts";

const TAGS = ["Omnichannel visitors"];

const SEND_TRANSCRIPT = { permissions: ["send-omnichannel-chat-transcript"] };

/** The e-mail sending Omnichannel routes. */
export function livechatMailRoutes(services: Services, log: Logger) {
  const { commandDeps: deps, mailer } = services;
  return new Elysia({ prefix: "/api/v1/livechat" })
    .use(apiBase(services, log))
    .post(
      "/offline.message",
      async ({ body }) => {
        try {
          await sendOfflineMessage(deps, mailer, body);
        } catch (error) {
          if (!(error instanceof ClientError)) throw error;
          // Rocket.Chat answers every refusal here with one sentence.
          log.debug({ err: error }, "offline message refused");
          throw new ClientError(
            "error-sending-offline-message",
            "Error sending Omnichannel offline message",
            { plain: true, cause: error },
          );
        }
        return ok({ message: "Livechat offline message sent" });
      },
      {
        open: true,
        body: t.Object({
          name: t.String(),
          email: t.String(),
          message: t.String(),
          department: t.Optional(t.String()),
          host: t.Optional(t.String()),
        }),
        detail: { summary: "A visitor's message left while no agent is online", tags: TAGS },
      },
    )
    .post(
      "/transcript",
      async ({ body }) => {
        await sendTranscript(deps, mailer, body);
        return ok({ message: "Omnichannel transcript sent" });
      },
      {
        open: true,
        body: t.Object({ token: t.String(), rid: t.String(), email: t.String() }),
        detail: { summary: "Mail the transcript of a conversation to its visitor", tags: TAGS },
      },
    )
    .post(
      "/transcript/:rid",
      async ({ me, params, body }) => {
        await requestTranscript(deps, params.rid, me, body.email, body.subject);
        return ok();
      },
      {
        access: SEND_TRANSCRIPT,
        body: t.Object({ email: t.String(), subject: t.String() }),
        detail: {
          summary: "Ask for the transcript to be mailed when the conversation closes",
          tags: TAGS,
        },
      },
    )
    .delete(
      "/transcript/:rid",
      async ({ params }) => {
        await discardTranscriptRequest(deps, params.rid);
        return ok();
      },
      {
        access: SEND_TRANSCRIPT,
        detail: { summary: "Cancel the transcript asked for at close", tags: TAGS },
      },
    );
}
